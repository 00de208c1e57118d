// Package layout holds no code: its test checks that the module's packages
// keep the dependency rules docs/architecture.md describes.
package layout
