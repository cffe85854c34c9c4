package zoomsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"zoomsignage/zoom/zoomsim"
)

// BenchmarkListRooms pages GET /rooms?page_size=300 over 10,000 rooms over
// real HTTP and reports pages/s; the simulator must never be the
// bottleneck of the gateway's benchmarks.
func BenchmarkListRooms(b *testing.B) {
	sim := zoomsim.New(zoomsim.Options{DisableRateLimits: true})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	seed, err := sim.Seed(context.Background(), zoomsim.SeedOptions{Rooms: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	client := srv.Client()
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {seed.AccountID}}
	req, _ := http.NewRequest("POST", srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(seed.Server.ClientID, seed.Server.ClientSecret)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	// The client reads each body whole (so the connection is reused),
	// checks the room count with a byte scan and reads only the leading
	// next_page_token with a streaming decoder: a full decode of 50 KB
	// pages would measure encoding/json, not the simulator.
	var body bytes.Buffer
	pages, rooms := 0, 0
	next := ""
	b.ResetTimer()
	for b.Loop() {
		u := srv.URL + "/v2/rooms?page_size=300"
		if next != "" {
			u += "&next_page_token=" + next
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body.Reset()
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("status %d: %v %.200s", resp.StatusCode, err, body.Bytes())
		}
		if next, err = leadingPageToken(body.Bytes()); err != nil {
			b.Fatal(err)
		}
		rooms += bytes.Count(body.Bytes(), []byte(`"room_id"`))
		pages++
		if next == "" {
			if rooms != 10_000 {
				b.Fatalf("a pass served %d rooms", rooms)
			}
			rooms = 0
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}

// leadingPageToken reads next_page_token, which the simulator writes
// before the rooms, without decoding the rest.
func leadingPageToken(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		t, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("next_page_token not found: %w", err)
		}
		if t == "next_page_token" {
			t, err = dec.Token()
			s, _ := t.(string)
			return s, err
		}
		if t == "rooms" {
			return "", errors.New("rooms before next_page_token")
		}
	}
}
