package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim"
)

// childEnv marks the child process a test runs its measured part in.
const childEnv = "CONNHUB_TEST_CHILD"

// inChild runs the test named name in a child process (this test binary,
// with childEnv set), so that what it measures of the process is its own,
// and reports whether this is that child.
func inChild(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv(childEnv) == name {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child process failed: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
	return false
}

// TestStalledUploadsHoldNoMemory: 40 unauthenticated clients each stalling
// a 10 MiB upload to the proxy leave the hub's memory where it was, and
// every stalled connection is closed, by an early answer or by the
// timeouts. (Before: each upload was read whole before authentication and
// held forever, 52 MB to 872 MB.)
func TestStalledUploadsHoldNoMemory(t *testing.T) {
	t.Parallel() // the measuring is done in a process of its own
	if !inChild(t, "TestStalledUploadsHoldNoMemory") {
		return
	}
	hub := servetest.Start(t, []string{"--sandbox", "--data-dir", t.TempDir(),
		"--read-header-timeout", "1s", "--read-timeout", "2s", "--idle-timeout", "2s", "--write-timeout", "2s"}, nil)
	host := strings.TrimPrefix(hub.URL, "http://")
	const uploadSize = 10 << 20
	payload := bytes.Repeat([]byte("a"), uploadSize)

	runtime.GC()
	debug.FreeOSMemory()
	idle := procStatus(t, "VmRSS")
	resetPeak := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil

	type client struct {
		name    string
		request string // headers, and for some the start of the body
		body    []byte // sent after the request, then the client stalls
	}
	var clients []client
	for i := range 20 {
		clients = append(clients,
			client{fmt.Sprintf("form %d", i), upload(host, "Content-Type: application/x-www-form-urlencoded\r\n", uploadSize), payload[:uploadSize-1]},
			client{fmt.Sprintf("wrong token %d", i), upload(host, "Authorization: Bearer chi_wrong\r\nContent-Type: application/json\r\n", uploadSize), payload[:uploadSize-1]})
	}
	for i := range 4 {
		// Stalled inside the part of a form read before authentication:
		// only the read timeout ends them.
		clients = append(clients, client{fmt.Sprintf("form stalled early %d", i), upload(host, "Content-Type: application/x-www-form-urlencoded\r\n", uploadSize), payload[:100<<10]},
			// Stalled in the headers: the read header timeout.
			client{fmt.Sprintf("headers stalled %d", i), "POST /v1/slack/chat.postMessage HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: appl", nil})
	}

	var wg sync.WaitGroup
	closed := make(chan string, len(clients))
	for _, c := range clients {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// A bound on the test, not a measure: the server should close the
		// connection long before.
		conn.SetDeadline(time.Now().Add(90 * time.Second))
		wg.Add(2)
		go func() {
			defer wg.Done()
			io.WriteString(conn, c.request)
			conn.Write(c.body) // fails once the server closes; that is expected
		}()
		go func() {
			defer wg.Done()
			_, err := io.Copy(io.Discard, conn) // until the server closes
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: the server never closed the connection", c.name)
			}
			closed <- c.name
		}()
	}
	// And an idle keep-alive connection: the idle timeout closes it.
	keepAlive, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer keepAlive.Close()
	keepAlive.SetDeadline(time.Now().Add(90 * time.Second))
	fmt.Fprintf(keepAlive, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	br := bufio.NewReader(keepAlive)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("an idle keep-alive connection: got %v, want it closed (EOF)", err)
	}

	for range clients {
		<-closed
	}
	wg.Wait()
	peak := procStatus(t, "VmRSS")
	if resetPeak {
		peak = procStatus(t, "VmHWM")
	}
	t.Logf("RSS idle %d MiB, peak while the uploads stalled %d MiB", idle>>20, peak>>20)
	if peak-idle > 100<<20 {
		t.Errorf("RSS rose by %d MiB for %d stalled unauthenticated uploads, want under 100 MiB", (peak-idle)>>20, len(clients))
	}
}

// upload is the head of a POST to the proxy with a body of size bytes.
func upload(host, header string, size int) string {
	return "POST /v1/slack/chat.postMessage HTTP/1.1\r\nHost: " + host + "\r\n" + header + "Content-Length: " + strconv.Itoa(size) + "\r\n\r\n"
}

// procStatus reads a size (kB) from /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "connhub test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: with --tls-cert and --tls-key serve speaks HTTPS, and the
// console's cookies are Secure; without, they are not.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	hub := servetest.Start(t, []string{"--data-dir", t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile}, nil)
	if !strings.HasPrefix(hub.URL, "https://") {
		t.Fatalf("serve says it serves on %s, want https://", hub.URL)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(hub.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || len(resp.Cookies()) == 0 {
		t.Fatalf("GET /signin over TLS: %d, TLS %v, cookies %v", resp.StatusCode, resp.TLS != nil, resp.Cookies())
	}
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("over TLS the cookie %s is not Secure", c.Name)
		}
	}
	// Plain HTTP on the TLS port gets no page.
	plain := "http://" + strings.TrimPrefix(hub.URL, "https://")
	if resp, err := http.Get(plain + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP to the TLS port was served")
		}
	}

	plainHub := servetest.Start(t, []string{"--data-dir", t.TempDir()}, nil)
	resp, err = http.Get(plainHub.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Secure {
			t.Errorf("over plain HTTP the cookie %s is Secure: browsers would drop it", c.Name)
		}
	}
}

// TestServeTLSNeedsBoth: a certificate without its key (or a bad pair) stops
// serve with one clear line.
func TestServeTLSNeedsBoth(t *testing.T) {
	t.Parallel()
	certFile, _, _ := selfSigned(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "--tls-cert \"" + certFile + "\": needs --tls-key too"},
		{[]string{"--tls-cert", certFile, "--tls-key", certFile}, "load the TLS certificate"},
	} {
		var stderr bytes.Buffer
		code := cli.ExecuteEnv(context.Background(), append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, tc.args...),
			io.Discard, &stderr, func(string) string { return "" })
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestShutdownAnswersCallsWaitingForSlack: a proxied call waiting for its
// method's budget when serve is told to stop is answered 503 shutting_down
// with Retry-After, not dropped.
func TestShutdownAnswersCallsWaitingForSlack(t *testing.T) {
	t.Parallel()
	sb, err := slacksim.New(slacksim.Config{Users: 30})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	h := &testHub{sandbox: sb, sbURL: ts.URL, info: sb.Info(ts.URL), dataDir: t.TempDir()}
	// A window of an hour: users.list's 20 calls a window are soon spent.
	served := servetest.Start(t, []string{"--data-dir", h.dataDir, "--slack-url", ts.URL, "--slack-rate-window", "1h"}, map[string]string{
		"CONNHUB_SLACK_CLIENT_ID": h.info.ClientID, "CONNHUB_SLACK_CLIENT_SECRET": h.info.ClientSecret, "CONNHUB_SLACK_SIGNING_SECRET": h.info.SigningSecret,
	})
	h.url, h.token, h.logs = served.URL, served.APIToken, served.Logs
	id := h.createFromToken(t, "Paced")

	type answer struct {
		status int
		header http.Header
		body   string
	}
	answers := make(chan answer, 1)
	client := &http.Client{Timeout: time.Minute} // a bound on the test, not a measure
	go func() {
		defer close(answers)
		for range 30 { // 20 go at once; the 21st waits until serve stops
			req, _ := http.NewRequest("GET", h.url+"/v1/instances/"+id+"/slack/users.list", nil)
			req.Header.Set("Authorization", "Bearer "+h.token)
			resp, err := client.Do(req)
			if err != nil {
				answers <- answer{body: err.Error()}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				answers <- answer{resp.StatusCode, resp.Header, string(body)}
				return
			}
		}
	}()
	waitForMetric(t, h.url, "connhub_pacer_waiting 1")
	if code := served.Stop(t); code != 0 {
		t.Errorf("serve exited %d; logs:\n%s", code, served.Logs)
	}
	a := <-answers
	if a.status != 503 || !strings.Contains(a.body, `"code":"shutting_down"`) || a.header.Get("Retry-After") == "" {
		t.Errorf("the waiting call: got %d %v %s; want 503 shutting_down with Retry-After", a.status, a.header, a.body)
	}
}

// waitForMetric waits, a bounded while, until /metrics has line.
func waitForMetric(t *testing.T, base, line string) {
	t.Helper()
	for range 1000 {
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "\n"+line+"\n") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/metrics never showed %q", line)
}
