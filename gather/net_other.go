//go:build !linux

package gather

import (
	"context"
	"errors"

	"github.com/ksdoctor/ksdoctor/diag"
)

func gatherNetwork(context.Context, *run, *diag.Snapshot) (func(*diag.Snapshot), error) {
	return nil, errors.New("network facts are read over netlink, which only Linux has")
}
