// A Go client on golang.org/x/net/websocket, the library the seed is built on: a short text,
// 1 MiB of binary and 64 KiB of multi-byte text, every byte of each echo checked, then a close
// (x/net/websocket sends 1000). The seed's own client can only send "Hello World".
//
// Usage: go-client ws://HOST:PORT/ws   (exits 0 when every check passed)
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"golang.org/x/net/websocket"
)

func main() {
	ws, err := websocket.Dial(os.Args[1], "", "http://localhost/")
	if err != nil {
		fmt.Println("go x/net/websocket: dial:", err)
		os.Exit(1)
	}
	ws.MaxPayloadBytes = 2 << 20
	binary := make([]byte, 1<<20)
	for i := range binary {
		binary[i] = byte((i*11 + 5) % 256)
	}
	failed := false
	report := func(name string, ok bool) {
		status := "ok"
		if !ok {
			status, failed = "FAILED", true
		}
		fmt.Printf("go x/net/websocket: %s: %s\n", name, status)
	}
	for _, text := range []struct{ name, payload string }{
		{"short text", "Hello World"},
		{"64 KiB of é", strings.Repeat("é", 32768)},
	} {
		var echo string
		err := websocket.Message.Send(ws, text.payload)
		if err == nil {
			err = websocket.Message.Receive(ws, &echo)
		}
		report(text.name, err == nil && echo == text.payload)
	}
	var echo []byte
	err = websocket.Message.Send(ws, binary)
	if err == nil {
		err = websocket.Message.Receive(ws, &echo)
	}
	report("1 MiB binary", err == nil && bytes.Equal(echo, binary))
	report("close", ws.Close() == nil)
	if failed {
		os.Exit(1)
	}
}
