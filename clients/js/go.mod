// This file only keeps the go command out of this folder: with a go.mod of
// its own it is another module, so `go test ./...` and `go vet ./...` at the
// repository root skip node_modules, where npm packages may carry Go code.
module github.com/tidings/tidings/clients/js

go 1.24
