module github.com/connhub/connhub

go 1.26.8

require (
	github.com/slack-go/slack v0.35.0
	github.com/spf13/cobra v1.10.2
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)
