// Command imagetar writes a one-layer container image tar (package
// imagetar) from files on disk, without a Docker daemon or a registry:
//
//	imagetar -ref ksdoctor:v1 -o ksdoctor.tar -entrypoint /ksdoctor -user 0:0 bin/image/ksdoctor:/ksdoctor
//
// Each argument is SRC:DEST (DEST absolute in the image; the mode is the
// source's). `make image-tar` runs it for the ksdoctor image; the tar is
// read by `docker load -i` and `ctr -n k8s.io images import`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ksdoctor/ksdoctor/atomicfile"
	"github.com/ksdoctor/ksdoctor/imagetar"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "imagetar: error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("imagetar", flag.ContinueOnError)
	ref := fs.String("ref", "", "image name:tag")
	out := fs.String("o", "", "output tar")
	entry := fs.String("entrypoint", "", "entrypoint (one argument)")
	user := fs.String("user", "", "user[:group] the image runs as")
	var labels, env list
	fs.Var(&labels, "label", "KEY=VALUE label (repeatable)")
	fs.Var(&env, "env", "KEY=VALUE environment variable (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" || *out == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: imagetar -ref NAME:TAG -o OUT.tar [-entrypoint PATH] [-user U] SRC:DEST...")
	}
	img := imagetar.Image{Ref: *ref, User: *user, Env: env, Labels: map[string]string{}}
	if *entry != "" {
		img.Entrypoint = []string{*entry}
	}
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		var sec int64
		if _, err := fmt.Sscan(epoch, &sec); err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", epoch, err)
		}
		img.Created = time.Unix(sec, 0)
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-label %q: want KEY=VALUE", l)
		}
		img.Labels[k] = v
	}
	for _, a := range fs.Args() {
		src, dest, ok := strings.Cut(a, ":")
		if !ok || !strings.HasPrefix(dest, "/") {
			return fmt.Errorf("%q: want SRC:/DEST", a)
		}
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		img.Files = append(img.Files, imagetar.File{Path: dest, Mode: int64(fi.Mode().Perm()), Data: data})
	}
	var buf bytes.Buffer
	if err := imagetar.Write(&buf, img); err != nil {
		return err
	}
	return atomicfile.Write(*out, buf.Bytes(), 0o644)
}
