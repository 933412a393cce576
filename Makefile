# pimvault — see README.md
GO      ?= go
BIN     := bin/pimvault
ADDR    ?= 127.0.0.1:5232
DATA    ?= ./data
BENCHTIME ?= 1x

.PHONY: build run test bench fuzz vet clean

build:
	$(GO) build -o $(BIN) ./cmd/pimvault

run: build
	./$(BIN) serve --addr $(ADDR) --data $(DATA)

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

# Every test, with the race detector. Crash tests build and SIGKILL a child.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

# Storage benchmarks with real fsync; figures go to BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./storage/

# Short coverage-guided fuzz runs of every parser.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFrame$$' -fuzztime $(FUZZTIME) ./storage/

clean:
	rm -rf bin
