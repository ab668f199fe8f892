package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// attemptTimeout bounds one HTTP or SMTP attempt, within Send's deadline.
const attemptTimeout = 10 * time.Second

// webhookClient follows no redirect: a redirect would resend the report
// (and the token in the URL) somewhere the user did not name.
var webhookClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func postWebhook(ctx context.Context, t Target, m *message, opts Options) error {
	body, err := m.payload(t.Format)
	if err != nil {
		return permanent{fmt.Errorf("encode %s payload: %w", t.Format, err)}
	}
	u := *t.URL
	if t.Format == FormatDingTalk && opts.DingTalkSecret != "" {
		signDingTalk(&u, opts.DingTalkSecret, time.Now())
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return permanent{errors.New("cannot build the request")}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "ksdoctor")
	resp, err := webhookClient.Do(req)
	if err != nil {
		// *url.Error quotes the URL with its token: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("HTTP %s", resp.Status)
		// A redirect is not followed (the token would go along), and a
		// client error will not mend by itself; 408 and 429 may.
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return permanent{err}
		}
		return err
	}
	return robotAnswer(t.Format, answer)
}

// robotAnswer reads DingTalk's and WeCom's answer: HTTP 200 with
// {"errcode":0,"errmsg":"ok"} on success, another errcode (a bad token,
// a keyword the robot requires, a rate limit) otherwise.
func robotAnswer(f Format, body []byte) error {
	if f != FormatDingTalk && f != FormatWeCom {
		return nil
	}
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ErrCode == nil {
		return fmt.Errorf("%s answered without an errcode", f)
	}
	if *a.ErrCode != 0 {
		msg := a.ErrMsg
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return fmt.Errorf("%s errcode %d: %s", f, *a.ErrCode, strings.ToValidUTF8(msg, "?"))
	}
	return nil
}

// signDingTalk adds the timestamp and sign parameters a robot with the
// "加签" security setting requires: sign = base64(HMAC-SHA256(secret,
// timestamp + "\n" + secret)), timestamp in milliseconds.
func signDingTalk(u *url.URL, secret string, now time.Time) {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	u.RawQuery = q.Encode()
}
