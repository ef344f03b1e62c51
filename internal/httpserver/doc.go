// Package httpserver builds the one http.Server the hub is served on, so
// that `connhub serve` and everything that runs it in-process (the tests,
// through internal/servetest) meet the same limits:
//
//   - ReadHeaderTimeout: a client has that long to send its request's
//     headers (slowloris).
//   - ReadTimeout: that long for the whole request, body included; a body
//     still arriving then is cut off and the connection closed. Once a body
//     has been read, the handler may take as long as it needs (the proxy's
//     pacer may make a call wait minutes): net/http clears the read deadline
//     then.
//   - WriteTimeout is per write, not per answer: each write of an answer (and
//     the server's own final flush) must make progress within it, or the
//     connection is closed. net/http's own WriteTimeout is a deadline for the
//     whole answer, counted from the request's headers; that would cut a
//     proxied call that waited in the pacer and an export that streams a
//     large stream for as long as it takes. What the timeout has to stop is
//     a client that stops reading, and a deadline renewed at each write stops
//     exactly that. So the server's WriteTimeout is zero and every answer
//     goes through a writer that moves the connection's write deadline
//     forward (http.ResponseController) as it writes.
//   - IdleTimeout: a keep-alive connection with no request is closed after it.
//   - MaxHeaderBytes bounds the request line and headers.
//   - TLS: with a certificate and key the server speaks HTTPS only (and
//     HTTP/2); r.TLS is then set, which is how the console knows to mark its
//     cookies Secure.
//
// Request bodies are bounded where they are read: the proxy by its own
// in-flight budget and per-call maximum, every other route by the API's
// 1 MiB per request; ReadTimeout bounds how long any of them can be held
// open.
package httpserver
