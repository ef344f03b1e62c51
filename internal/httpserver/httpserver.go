package httpserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options are the server's limits; see the package doc for what each bounds.
// Zero durations and sizes take the defaults of internal/config.
type Options struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// TLSCert and TLSKey are PEM files; with both set the server serves
	// HTTPS. One without the other is an error.
	TLSCert, TLSKey string
	Log             *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is the hub's HTTP server.
type Server struct {
	*http.Server
	writeTimeout time.Duration
}

// New builds the server for h (nil: set it later with SetHandler). With TLS files it loads the key pair now, so
// that a bad certificate is an error at start, not at the first client.
func New(h http.Handler, o Options) (*Server, error) {
	o = o.withDefaults()
	srv := &http.Server{
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      0, // per write instead: see progressDeadline
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	switch {
	case o.TLSCert != "" && o.TLSKey != "":
		pair, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("httpserver: load the TLS certificate %s and key %s: %w", o.TLSCert, o.TLSKey, err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	case o.TLSCert != "" || o.TLSKey != "":
		return nil, errors.New("httpserver: TLS needs both a certificate and a key")
	}
	s := &Server{Server: srv, writeTimeout: o.WriteTimeout}
	if h != nil {
		s.SetHandler(h)
	}
	return s, nil
}

// SetHandler sets the handler, for a server built before its handler was.
func (s *Server) SetHandler(h http.Handler) { s.Handler = progressDeadline(h, s.writeTimeout) }

// TLS reports whether the server serves HTTPS.
func (s *Server) TLS() bool { return s.TLSConfig != nil }

// Scheme is "https" or "http".
func (s *Server) Scheme() string {
	if s.TLS() {
		return "https"
	}
	return "http"
}

// Serve serves on l (over TLS when configured) until Shutdown or Close,
// which make it return http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if s.TLS() {
		return s.Server.ServeTLS(l, "", "")
	}
	return s.Server.Serve(l)
}

// progressDeadline gives every answer a write deadline of d from its last
// write, rather than from its start: a client that stops reading is cut off
// d after, and a long answer that keeps moving is not.
func progressDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &progressWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		pw.extend() // for what the server writes itself (100 Continue, errors)
		next.ServeHTTP(pw, r)
		pw.extend() // for the final flush, after a handler that went quiet
	})
}

// progressWriter moves the connection's write deadline forward as the
// answer is written. It renews the deadline only once a quarter of d has
// passed, so that a write costs no more than a clock read.
type progressWriter struct {
	http.ResponseWriter
	rc  *http.ResponseController
	d   time.Duration
	set time.Time // when the deadline was last moved
}

func (pw *progressWriter) extend() {
	now := time.Now()
	if !pw.set.IsZero() && now.Sub(pw.set) < pw.d/4 {
		return
	}
	pw.set = now
	pw.rc.SetWriteDeadline(now.Add(pw.d)) // ErrNotSupported: nothing to move
}

func (pw *progressWriter) WriteHeader(code int) {
	pw.extend()
	pw.ResponseWriter.WriteHeader(code)
}

func (pw *progressWriter) Write(p []byte) (int, error) {
	pw.extend()
	return pw.ResponseWriter.Write(p)
}

// Flush flushes what is buffered, for handlers that ask http.Flusher.
func (pw *progressWriter) Flush() {
	pw.extend()
	pw.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (pw *progressWriter) Unwrap() http.ResponseWriter { return pw.ResponseWriter }
