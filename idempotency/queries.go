package idempotency

// claim inserts the key for a first request, or takes over a row that no
// longer counts: expired (older than the retention) or left in progress
// past the lease by a replica that died mid-request. It returns a row only
// when this request now owns the key.
const sqlClaim = `INSERT INTO idempotency_keys (tenant_id, key, fingerprint)
VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, key) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, created_at = now(),
       completed_at = NULL, status = NULL, content_type = NULL, body = NULL
 WHERE idempotency_keys.created_at < now() - $4 * interval '1 second'
    OR (idempotency_keys.completed_at IS NULL AND idempotency_keys.created_at < now() - $5 * interval '1 second')
RETURNING true`

const sqlLookup = `SELECT fingerprint, completed_at IS NOT NULL, coalesce(status, 0), coalesce(content_type, ''), coalesce(body, ''::bytea)
  FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`

const sqlComplete = `UPDATE idempotency_keys
   SET completed_at = now(), status = $4, content_type = $5, body = $6
 WHERE tenant_id = $1 AND key = $2 AND fingerprint = $3 AND completed_at IS NULL`

const sqlRelease = `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND fingerprint = $3 AND completed_at IS NULL`

const sqlPrune = `DELETE FROM idempotency_keys WHERE created_at < now() - $1 * interval '1 second'`
