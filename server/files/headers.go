package files

import (
	"mime"
	"net/http"
	"strings"
)

// Files are stored with whatever Content-Type their PUT declared, and are
// served from the same origin as the signed-in DAV tree and /api/. An HTML
// or SVG file opened in a browser would run its scripts as this origin,
// with the user's credentials. So every answer of the files area says
// nosniff and carries a sandbox CSP (no scripts, a unique origin), and a
// file is shown inline only when its type is one a browser renders
// passively; anything else (text/html, image/svg+xml, XHTML, XML,
// JavaScript, unknown types) is sent as an attachment, which browsers save
// instead of rendering.

// passiveTypes are shown inline: browsers render them without running code.
var passiveTypes = map[string]bool{
	"text/plain": true, "text/vcard": true, "text/calendar": true, "text/csv": true,
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/avif": true,
	"application/octet-stream": true, "application/json": true,
}

// passiveMedia reports whether a stored Content-Type may be shown inline.
func passiveMedia(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	mt = strings.ToLower(mt)
	return passiveTypes[mt] || strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/")
}

// setSafetyHeaders marks every answer of the files area.
func setSafetyHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
}

// setDisposition makes a file of an active type a download.
func setDisposition(w http.ResponseWriter, contentType string) {
	if !passiveMedia(contentType) {
		w.Header().Set("Content-Disposition", "attachment")
	}
}
