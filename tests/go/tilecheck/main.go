// tilecheck: reads a C2SP tlog-tiles folder (as `sourceledger tiles export`
// writes it) with Go's own golang.org/x/mod/sumdb packages, for
// tests/api/interop_go.rs. It verifies the checkpoint's signature with
// sumdb/note, then through sumdb/tlog's TileHashReader (which authenticates
// every tile it reads against the signed root) proves and checks the
// inclusion of every entry of the bundles and the consistency of every
// smaller tree size it is given. The C2SP paths differ from sumdb's only in
// leaving out the tile height: tile/<L>/<N>[.p/<W>], tile/entries/<N>.
//
// usage: go run main.go DIR VKEY OLD_SIZE...
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type dirReader struct{ dir string }

func (r dirReader) Height() int { return height }

// c2spPath drops sumdb's height element: tile/8/0/x001/234 -> tile/0/x001/234.
func c2spPath(t tlog.Tile) string {
	p := t.Path()
	parts := strings.SplitN(p, "/", 3)
	return parts[0] + "/" + parts[2]
}

func (r dirReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(r.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r dirReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tilecheck: "+format+"\n", args...)
	os.Exit(1)
}

func bundlePath(n int64, width int64) string {
	t := tlog.Tile{H: height, L: 0, N: n, W: int(width)}
	p := strings.Replace(c2spPath(t), "tile/0/", "tile/entries/", 1)
	return p
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: tilecheck DIR VKEY OLD_SIZE...")
	}
	dir, vkey := os.Args[1], os.Args[2]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	n, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint: not a checkpoint of %s", verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root")
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	reader := tlog.TileHashReader(tree, dirReader{dir})
	th, err := tlog.TreeHash(size, reader)
	if err != nil || th != root {
		fail("the tiles do not give the signed root: %v", err)
	}

	// Every entry of every bundle: its leaf hash proven included.
	checked := int64(0)
	for b := int64(0); b*256 < size; b++ {
		width := size - b*256
		if width > 256 {
			width = 256
		}
		data, err := os.ReadFile(filepath.Join(dir, bundlePath(b, width)))
		if err != nil {
			fail("bundle %d: %v", b, err)
		}
		rest := data
		for i := int64(0); i < width; i++ {
			if len(rest) < 2 {
				fail("bundle %d: cut short", b)
			}
			l := int(binary.BigEndian.Uint16(rest[:2]))
			if len(rest) < 2+l {
				fail("bundle %d: cut short", b)
			}
			leaf := rest[2 : 2+l]
			rest = rest[2+l:]
			index := b*256 + i
			proof, err := tlog.ProveRecord(size, index, reader)
			if err != nil {
				fail("prove entry %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(leaf)); err != nil {
				fail("entry %d is not in the tree: %v", index, err)
			}
			checked++
		}
		if !bytes.Equal(rest, nil) && len(rest) != 0 {
			fail("bundle %d: trailing bytes", b)
		}
	}

	// Every older size given: the older tree is a prefix of this one.
	for _, arg := range os.Args[3:] {
		old, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || old <= 0 || old > size {
			fail("old size %q", arg)
		}
		oldRoot, err := tlog.TreeHash(old, reader)
		if err != nil {
			fail("root of %d: %v", old, err)
		}
		proof, err := tlog.ProveTree(size, old, reader)
		if err != nil {
			fail("prove %d -> %d: %v", old, size, err)
		}
		if err := tlog.CheckTree(proof, size, root, old, oldRoot); err != nil {
			fail("%d is not a prefix of %d: %v", old, size, err)
		}
	}
	fmt.Printf("OK: %d entries included in the tree of %d, %d consistency proofs\n", checked, size, len(os.Args)-3)
}
