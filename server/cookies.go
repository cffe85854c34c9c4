package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// Cookies let code running under /graphql (resolvers, domain services) set
// a response cookie without holding the http.ResponseWriter: withCookies
// puts a jar in the request context, SetCookie adds to it, and the jar is
// written as Set-Cookie headers when the response header is written. Used
// to bind a Marketplace install to the browser that started it.

// ErrNoCookieJar is returned by SetCookie when the request cannot carry a
// cookie (a websocket, or a context not from an HTTP request).
var ErrNoCookieJar = errors.New("server: this request cannot set cookies")

type cookieJarKey struct{}

// cookieJar collects the cookies of one response. Resolvers may run
// concurrently within one request, hence the lock.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
	written bool
}

// SetCookie adds c to the response of the request ctx belongs to. It fails
// with ErrNoCookieJar outside an HTTP request, or once the response header
// has been sent.
func SetCookie(ctx context.Context, c *http.Cookie) error {
	jar, ok := ctx.Value(cookieJarKey{}).(*cookieJar)
	if !ok {
		return ErrNoCookieJar
	}
	jar.mu.Lock()
	defer jar.mu.Unlock()
	if jar.written {
		return ErrNoCookieJar
	}
	jar.cookies = append(jar.cookies, c)
	return nil
}

// withCookies gives every non-websocket request a cookie jar. Websockets
// are passed through untouched: their ResponseWriter must stay hijackable
// and an upgraded connection has no response to carry a cookie.
func withCookies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		jar := &cookieJar{}
		cw := &cookieWriter{ResponseWriter: w, jar: jar}
		next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), cookieJarKey{}, jar)))
	})
}

// cookieWriter writes the jar's cookies with the response header.
type cookieWriter struct {
	http.ResponseWriter
	jar *cookieJar
}

func (w *cookieWriter) WriteHeader(code int) {
	w.jar.mu.Lock()
	if !w.jar.written {
		w.jar.written = true
		for _, c := range w.jar.cookies {
			http.SetCookie(w.ResponseWriter, c)
		}
	}
	w.jar.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieWriter) Write(b []byte) (int, error) {
	w.jar.mu.Lock()
	written := w.jar.written
	w.jar.mu.Unlock()
	if !written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *cookieWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
