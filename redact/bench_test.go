package redact

import (
	"fmt"
	"strings"
	"testing"
)

// adversarial are inputs built to make a careless scanner quadratic: URL
// starts with no end, assignments without values, keys without bodies.
var adversarial = map[string]string{
	"url-starts":   "tcp://u:p ",
	"url-no-at":    "http://host:pass/",
	"assignments":  "A_TOKEN=",
	"flags-glued":  "-token=a",
	"quoted-glued": `x_token="a`,
	"quoted-open":  `"API_KEY=x `,
	"pem-headers":  "-----BEGIN PRIVATE KEY-----",
	"base64":       "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t",
	"bearer-words": "Bearer abc ",
	"prose":        "secret default/x-secret: certificate does not cover b.example; ",
}

// BenchmarkStringLinear masks adversarial text of growing size: the time
// per byte must stay flat (go test -bench StringLinear ./redact).
func BenchmarkStringLinear(b *testing.B) {
	for name, unit := range adversarial {
		for _, size := range []int{16 << 10, 256 << 10, 1 << 20} {
			s := strings.Repeat(unit, size/len(unit))
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					String(s)
				}
			})
		}
	}
}
