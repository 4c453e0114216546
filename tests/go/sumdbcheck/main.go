// Command sumdbcheck checks sourceledger's checkpoints and proofs with Go's own
// golang.org/x/mod/sumdb/note and sumdb/tlog, code this project did not write.
//
// Usage: sumdbcheck FILE.json, where FILE holds the vkey, two signed checkpoints,
// inclusion proofs to the newer one and a consistency proof between them. It
// prints "ok" and exits 0 when everything verifies, and exits 1 otherwise.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type input struct {
	Vkey          string   `json:"vkey"`
	Checkpoint    string   `json:"checkpoint"`
	OldCheckpoint string   `json:"old_checkpoint"`
	Consistency   []string `json:"consistency"`
	Inclusion     []struct {
		Index int64    `json:"index"`
		Leaf  string   `json:"leaf"`
		Proof []string `json:"proof"`
	} `json:"inclusion"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, h := range list {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			fail("bad hash %q", h)
		}
		copy(out[i][:], b)
	}
	return out
}

// open verifies a signed checkpoint and returns its size and root.
func open(verifier note.Verifier, text string) (int64, tlog.Hash) {
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint body %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("root %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return size, h
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: sumdbcheck FILE.json")
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var in input
	if err := json.Unmarshal(data, &in); err != nil {
		fail("%v", err)
	}
	verifier, err := note.NewVerifier(in.Vkey)
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	size, root := open(verifier, in.Checkpoint)
	oldSize, oldRoot := open(verifier, in.OldCheckpoint)
	for _, inc := range in.Inclusion {
		if err := tlog.CheckRecord(hashes(inc.Proof), size, root, inc.Index, tlog.RecordHash([]byte(inc.Leaf))); err != nil {
			fail("tlog.CheckRecord %d/%d: %v", inc.Index, size, err)
		}
	}
	if err := tlog.CheckTree(hashes(in.Consistency), size, root, oldSize, oldRoot); err != nil {
		fail("tlog.CheckTree %d->%d: %v", oldSize, size, err)
	}
	fmt.Printf("ok: %d inclusion proofs to size %d, consistency %d -> %d\n", len(in.Inclusion), size, oldSize, size)
}
