// A QUIC echo peer built on quic-go, for interop tests of @sockworker/sockets.
// Built offline from Debian packages (see test/interop/quic-go.ts).
//
//	quic-go-peer -listen 127.0.0.1:0 -cert F -key F   serve: echo streams and datagrams
//	quic-go-peer -connect 127.0.0.1:4433 -ca F        drive a server: streams, datagram, close
//
// The server prints "listening <port>", then one line per event the tests wait for.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

const alpn = "sockworker-test"

func main() {
	listen := flag.String("listen", "", "serve on this address")
	connect := flag.String("connect", "", "connect to this address")
	cert := flag.String("cert", "", "certificate (PEM)")
	key := flag.String("key", "", "private key (PEM)")
	ca := flag.String("ca", "", "CA to trust (PEM)")
	flag.Parse()
	config := &quic.Config{EnableDatagrams: true, MaxIdleTimeout: 30 * time.Second}
	var err error
	if *listen != "" {
		err = serve(*listen, *cert, *key, config)
	} else {
		err = drive(*connect, *ca, config)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
}

func serve(addr, certFile, keyFile string, config *quic.Config) error {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{alpn}}
	listener, err := quic.ListenAddr(addr, tlsConf, config)
	if err != nil {
		return err
	}
	fmt.Println("listening", listener.Addr().(*net.UDPAddr).Port)
	for {
		conn, err := listener.Accept(context.Background())
		if err != nil {
			return err
		}
		go echo(conn)
	}
}

// echo returns every bidirectional stream on itself, every unidirectional
// stream on a new one, and every datagram. A datagram "close <code> <reason>"
// closes the connection with that application code; "reset <code>" opens a
// bidirectional stream and resets it with that stream error code.
func echo(conn quic.Connection) {
	go func() {
		for {
			stream, err := conn.AcceptStream(context.Background())
			if err != nil {
				report(err)
				return
			}
			go func() {
				io.Copy(stream, stream)
				stream.Close()
			}()
		}
	}()
	go func() {
		for {
			stream, err := conn.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			go func() {
				data, _ := io.ReadAll(stream)
				out, err := conn.OpenUniStreamSync(context.Background())
				if err != nil {
					return
				}
				out.Write(data)
				out.Close()
			}()
		}
	}()
	for {
		message, err := conn.ReceiveMessage()
		if err != nil {
			return
		}
		text := string(message)
		if strings.HasPrefix(text, "reset ") {
			code, _ := strconv.Atoi(strings.TrimPrefix(text, "reset "))
			stream, err := conn.OpenStreamSync(context.Background())
			if err == nil {
				stream.CancelWrite(quic.StreamErrorCode(code))
			}
			continue
		}
		if strings.HasPrefix(text, "close ") {
			parts := strings.SplitN(text, " ", 3)
			code, _ := strconv.Atoi(parts[1])
			conn.CloseWithError(quic.ApplicationErrorCode(code), parts[2])
			return
		}
		conn.SendMessage(message)
	}
}

// report prints how the peer closed the connection, for the tests to check.
func report(err error) {
	var app *quic.ApplicationError
	if errors.As(err, &app) && app.Remote {
		fmt.Printf("peer closed %d %q\n", app.ErrorCode, app.ErrorMessage)
	}
}

func drive(addr, caFile string, config *quic.Config) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tlsConf := &tls.Config{RootCAs: roots, NextProtos: []string{alpn}, ServerName: "localhost"}
	conn, err := quic.DialAddr(addr, tlsConf, config)
	if err != nil {
		return err
	}
	stream, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		return err
	}
	stream.Write([]byte("bidi from quic-go"))
	stream.Close()
	reply, err := io.ReadAll(stream)
	if err != nil {
		return err
	}
	fmt.Printf("bidi %q\n", reply)
	uni, err := conn.OpenUniStreamSync(context.Background())
	if err != nil {
		return err
	}
	uni.Write([]byte("uni from quic-go"))
	uni.Close()
	back, err := conn.AcceptUniStream(context.Background())
	if err != nil {
		return err
	}
	data, err := io.ReadAll(back)
	if err != nil {
		return err
	}
	fmt.Printf("uni %q\n", data)
	// Loopback does not lose packets: one datagram is enough.
	if err := conn.SendMessage([]byte("datagram from quic-go")); err != nil {
		return err
	}
	message, err := conn.ReceiveMessage()
	if err != nil {
		return err
	}
	fmt.Printf("datagram %q\n", message)
	return conn.CloseWithError(7, "bye from quic-go")
}
