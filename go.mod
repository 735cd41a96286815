module github.com/edgewatch/edgewatch

go 1.26.0

toolchain go1.26.11

require (
	github.com/cloudevents/sdk-go/v2 v2.16.2
	github.com/google/uuid v1.6.0
	github.com/lib/pq v1.10.9
	github.com/prometheus/client_golang v1.23.2
	github.com/rabbitmq/amqp091-go v1.17.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	gonum.org/v1/plot v0.17.0
	knative.dev/func-go v0.22.0
	sigs.k8s.io/yaml v1.4.0
)

require (
	codeberg.org/go-fonts/liberation v0.5.0 // indirect
	codeberg.org/go-latex/latex v0.2.0 // indirect
	codeberg.org/go-pdf/fpdf v0.11.1 // indirect
	git.sr.ht/~sbinet/gg v0.7.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/caarlos0/env/v11 v11.4.2 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/mattn/go-colorable v0.1.13 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.2
	github.com/prometheus/common v0.66.1
	github.com/prometheus/procfs v0.16.1 // indirect
	github.com/rs/zerolog v1.32.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.0 // indirect
	go.yaml.in/yaml/v2 v2.4.2 // indirect
	gocv.io/x/gocv v0.31.0 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	google.golang.org/protobuf v1.36.8 // indirect
)

// The runner hosts every function in one process. Each function is its own module that builds
// from the module proxy alone (func and Dockerfiles build them so); the runner takes them from
// this tree, so that `go build`, `go test` and `go run` work here without a workspace file.
require (
	github.com/edgewatch/edgewatch/functions/alert v0.0.0
	github.com/edgewatch/edgewatch/functions/caption v0.0.0
	github.com/edgewatch/edgewatch/functions/dashboard v0.0.0
	github.com/edgewatch/edgewatch/functions/detect v0.0.0
	github.com/edgewatch/edgewatch/functions/motion-source v0.0.0
)

replace (
	github.com/edgewatch/edgewatch/functions/alert => ./functions/alert
	github.com/edgewatch/edgewatch/functions/caption => ./functions/caption
	github.com/edgewatch/edgewatch/functions/dashboard => ./functions/dashboard
	github.com/edgewatch/edgewatch/functions/detect => ./functions/detect
	github.com/edgewatch/edgewatch/functions/motion-source => ./functions/motion-source
)
