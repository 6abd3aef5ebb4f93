// Package redisurl reads the Redis URLs of the config (the keys' store and
// the response cache) into go-redis client options, with timeouts of the
// caller's choosing. Its errors never quote the URL, which may hold a
// password.
package redisurl

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

const want = "expected redis://[user:password@]host:port[/db] or rediss://…"

// Parse reads a redis:// or rediss:// URL. The dial, read and write
// timeouts are timeout unless the URL's query sets them; who names the
// caller in errors (e.g. "store redis").
func Parse(raw, who string, timeout time.Duration) (*goredis.Options, url.Values, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, nil, fmt.Errorf("%s: invalid url: %s", who, want)
	}
	opt, err := goredis.ParseURL(raw)
	if err != nil {
		msg := err.Error()
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "…")
		}
		msg = strings.ReplaceAll(msg, raw, "…")
		return nil, nil, fmt.Errorf("%s: invalid url (%s): %s", who, msg, want)
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		opt.DialTimeout = timeout
	}
	if !q.Has("read_timeout") {
		opt.ReadTimeout = timeout
	}
	if !q.Has("write_timeout") {
		opt.WriteTimeout = timeout
	}
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	return opt, q, nil
}
