package resolvers

import (
	"zoomsignage/graph/model"
	"zoomsignage/webhooks"
)

func webhookEndpointModel(ep webhooks.Endpoint) *model.WebhookEndpoint {
	out := &model.WebhookEndpoint{ID: ep.ID, URL: ep.URL, Events: ep.Events, Enabled: ep.Enabled, CreatedAt: ep.CreatedAt}
	if ep.Description != "" {
		out.Description = &ep.Description
	}
	return out
}

func webhookDeliveryModel(d webhooks.Delivery) *model.WebhookDelivery {
	out := &model.WebhookDelivery{ID: d.ID, WebhookID: d.WebhookID, EventType: d.EventType, Attempt: d.Attempt,
		Status: d.Status, ResponseCode: d.ResponseCode, CreatedAt: d.CreatedAt, NextAttemptAt: d.NextAttemptAt}
	if d.LastError != "" {
		out.LastError = &d.LastError
	}
	return out
}

func webhookDeliveriesModel(p webhooks.DeliveryPage) *model.WebhookDeliveryConnection {
	out := &model.WebhookDeliveryConnection{Edges: make([]*model.WebhookDeliveryEdge, len(p.Deliveries)),
		PageInfo: &model.PageInfo{HasNextPage: p.HasNext}, TotalCount: p.Total}
	for i, d := range p.Deliveries {
		out.Edges[i] = &model.WebhookDeliveryEdge{Cursor: webhooks.Cursor(d), Node: webhookDeliveryModel(d)}
	}
	if n := len(out.Edges); n > 0 {
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &out.Edges[0].Cursor, &out.Edges[n-1].Cursor
	}
	return out
}
