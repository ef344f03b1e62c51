package httpserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/httpserver"
)

// serve runs h on a loopback port with short timeouts until the test ends.
func serve(t *testing.T, h http.Handler, o httpserver.Options) string {
	t.Helper()
	srv, err := httpserver.New(h, o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// dial connects with a bound on the whole test's use of the connection.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute)) // a bound, not a measure
	return conn
}

// TestAClientThatStopsReadingIsCutOff: an answer the client does not read
// ends in a failed write once the write timeout passes without progress.
func TestAClientThatStopsReadingIsCutOff(t *testing.T) {
	t.Parallel()
	failed := make(chan error, 1)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 16 << 10 { // 1 GiB: more than any socket buffer
			if _, err := w.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
		failed <- nil
	}), httpserver.Options{WriteTimeout: 200 * time.Millisecond})
	conn := dial(t, addr)
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	if err := <-failed; err == nil {
		t.Error("the handler wrote 1 GiB to a client that read none of it")
	}
}

// TestALongAnswerThatKeepsMovingIsNotCutOff: an answer written over longer
// than the write timeout, a part at a time, arrives whole.
func TestALongAnswerThatKeepsMovingIsNotCutOff(t *testing.T) {
	t.Parallel()
	const parts, timeout = 5, 400 * time.Millisecond
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range parts {
			fmt.Fprintf(w, "part %d\n", i)
			http.NewResponseController(w).Flush()
			time.Sleep(timeout / 2) // the whole answer takes longer than the timeout
		}
	}), httpserver.Options{WriteTimeout: timeout})
	resp, err := http.Get("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(body), "part") != parts {
		t.Errorf("got %q, %v; want all %d parts", body, err, parts)
	}
}

// TestSlowRequestsAreClosed: headers or a body that stop coming, and an idle
// keep-alive connection, are closed by their timeouts.
func TestSlowRequestsAreClosed(t *testing.T) {
	t.Parallel()
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}), httpserver.Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	for name, req := range map[string]string{
		"headers": "POST / HTTP/1.1\r\nHost: x\r\nContent-Ty",
		"body":    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc",
	} {
		conn := dial(t, addr)
		io.WriteString(conn, req)
		if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s stalled: the server never closed the connection", name)
		}
	}
	conn := dial(t, addr)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle keep-alive: got %v, want the server to close it", err)
	}
}

func TestHeadersAreBounded(t *testing.T) {
	t.Parallel()
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), httpserver.Options{MaxHeaderBytes: 4 << 10})
	req, _ := http.NewRequest("GET", "http://"+addr, nil)
	req.Header.Set("X-Big", strings.Repeat("b", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: got %d, want 431", resp.StatusCode)
	}
}

func TestTLSNeedsAGoodPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not PEM"), 0o600)
	for _, o := range []httpserver.Options{{TLSCert: junk}, {TLSKey: junk}, {TLSCert: junk, TLSKey: junk}, {TLSCert: filepath.Join(dir, "none"), TLSKey: junk}} {
		if _, err := httpserver.New(http.NotFoundHandler(), o); err == nil {
			t.Errorf("cert %q key %q: got no error", o.TLSCert, o.TLSKey)
		}
	}
}
