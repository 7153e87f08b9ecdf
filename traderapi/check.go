package traderapi

import (
	"io"
	"net/http"
)

// CheckResponse turns a response of any exchange endpoint (a trading call
// sent through an authorizing transport, say) into an error the way the
// client does for its own: nil for a 2xx, else an [*APIError] whose Error
// ends with the [APIError.Diagnosis] for a 401, 403 or 421. It reads at most
// 1 MiB of a failed response's body and leaves a 2xx body unread.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	endpoint := ""
	if resp.Request != nil && resp.Request.URL != nil {
		endpoint = resp.Request.URL.Path
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return DecodeError(endpoint, resp, body)
}
