// Checks a checkpoint's witness cosignatures the way a Go client would: with
// golang.org/x/mod/sumdb/note opening the signed note, the log's key as an
// ordinary Ed25519 verifier and each witness's key as a C2SP
// tlog-cosignature (cosignature/v1) verifier written here from the spec.
//
// Usage: go run main.go INPUT.json, where INPUT holds
// {"note": "...", "log_vkey": "...", "witness_vkeys": ["..."]}.
// Prints the names whose signatures verified; exits 1 unless every witness
// given cosigned.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v cosigVerifier) Name() string    { return v.name }
func (v cosigVerifier) KeyHash() uint32 { return v.hash }

// Verify checks timestamp(8, big-endian) || Ed25519 signature over
// "cosignature/v1\ntime <T>\n" followed by the note text.
func (v cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	signed := []byte("cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n")
	signed = append(signed, msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

func parseCosigner(vkey string) (cosigVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return cosigVerifier{}, fmt.Errorf("malformed vkey %q", vkey)
	}
	name := parts[0]
	id, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return cosigVerifier{}, err
	}
	material, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(material) != 1+ed25519.PublicKeySize || material[0] != 0x04 {
		return cosigVerifier{}, fmt.Errorf("not a cosignature/v1 key: %q", vkey)
	}
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(material)
	sum := h.Sum(nil)
	hash := binary.BigEndian.Uint32(sum[:4])
	if hash != uint32(id) {
		return cosigVerifier{}, fmt.Errorf("key ID mismatch in %q", vkey)
	}
	return cosigVerifier{name: name, hash: hash, key: ed25519.PublicKey(material[1:])}, nil
}

func main() {
	var input struct {
		Note         string   `json:"note"`
		LogVkey      string   `json:"log_vkey"`
		WitnessVkeys []string `json:"witness_vkeys"`
	}
	data, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = json.Unmarshal(data, &input)
	}
	if err != nil {
		fmt.Println("input:", err)
		os.Exit(2)
	}
	logVerifier, err := note.NewVerifier(input.LogVkey)
	if err != nil {
		fmt.Println("log vkey:", err)
		os.Exit(2)
	}
	verifiers := []note.Verifier{logVerifier}
	for _, vkey := range input.WitnessVkeys {
		v, err := parseCosigner(vkey)
		if err != nil {
			fmt.Println("witness vkey:", err)
			os.Exit(2)
		}
		verifiers = append(verifiers, v)
	}
	n, err := note.Open([]byte(input.Note), note.VerifierList(verifiers...))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	seen := map[string]bool{}
	for _, sig := range n.Sigs {
		seen[sig.Name] = true
		fmt.Println("verified:", sig.Name)
	}
	for _, v := range verifiers[1:] {
		if !seen[v.Name()] {
			fmt.Println("missing cosignature:", v.Name())
			os.Exit(1)
		}
	}
}
