package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-seed-rooms", "7", "-plan", "business"}, pw)
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	var b banner
	if err := json.Unmarshal([]byte(line), &b); err != nil || b.AccountID == "" || b.ClientSecret == "" || b.MarketplaceClientID == "" {
		t.Fatalf("banner %q: %v", line, err)
	}
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {b.AccountID}}
	req, _ := http.NewRequest("POST", "http://"+b.Addr+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(b.ClientID, b.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ = http.NewRequest("GET", "http://"+b.Addr+"/v2/rooms?page_size=300", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Rooms []any `json:"rooms"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Rooms) != 7 {
		t.Fatalf("rooms = %d, want 7", len(list.Rooms))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown")
	}
}

func TestParseFlagsRejectsNegativeRooms(t *testing.T) {
	if _, err := parseFlags([]string{"-seed-rooms", "-1"}); err == nil {
		t.Fatal("accepted -seed-rooms -1")
	}
}
