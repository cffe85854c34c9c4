package resolvers

import (
	"zoomsignage/audit"
	"zoomsignage/auth"
	"zoomsignage/graph/model"
	"zoomsignage/tenants"
)

// The mappings from domain values to GraphQL models, kept apart from the
// generated-and-edited resolver files.

func apiKeyModel(k auth.APIKey) *model.APIKey {
	return &model.APIKey{
		ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: scopeNames(k.Scopes),
		CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
		RevokedAt: k.RevokedAt, Revoked: k.RevokedAt != nil,
	}
}

func licenseUsageModel(u tenants.Usage) *model.LicenseUsage {
	return &model.LicenseUsage{Total: u.Total, Used: u.Used, Available: u.Available}
}

func scopeNames(scopes []auth.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

func auditFilter(f *model.AuditFilter) audit.Filter {
	if f == nil {
		return audit.Filter{}
	}
	return audit.Filter{
		Action: deref(f.Action, ""), Actor: deref(f.Actor, ""),
		TargetType: deref(f.TargetType, ""), TargetID: deref(f.TargetID, ""),
		Since: f.Since, Until: f.Until,
	}
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
