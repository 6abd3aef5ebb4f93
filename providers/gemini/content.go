package gemini

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strings"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// contentText is the text of a message's content: the string, or its text
// parts joined.
func contentText(content gjson.Result) string {
	if !content.IsArray() {
		return content.Str
	}
	var s strings.Builder
	content.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String {
			s.WriteString(t.Str)
		}
		return true
	})
	return s.String()
}

// appendTextParts appends a content's text (a string, or its text and
// refusal parts) as text parts; empty text is left out, as Gemini rejects it.
func appendTextParts(b []byte, content gjson.Result) []byte {
	if content.Type == gjson.String {
		return appendText(b, content.Str)
	}
	content.ForEach(func(_, part gjson.Result) bool {
		switch part.Get("type").Str {
		case "text":
			b = appendText(b, part.Get("text").Str)
		case "refusal":
			b = appendText(b, part.Get("refusal").Str)
		}
		return true
	})
	return b
}

func appendText(b []byte, text string) []byte {
	if text == "" {
		return b
	}
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"text":`...)
	b = llm.AppendString(b, text)
	return append(b, '}')
}

// appendUserParts appends a user message's content parts.
func appendUserParts(b []byte, content gjson.Result, msg int) ([]byte, *llm.Error) {
	if !content.IsArray() {
		return appendText(b, content.Str), nil
	}
	var err *llm.Error
	j := 0
	content.ForEach(func(_, part gjson.Result) bool {
		param := fmt.Sprintf("messages[%d].content[%d]", msg, j)
		j++
		switch typ := part.Get("type").Str; typ {
		case "text":
			b = appendText(b, part.Get("text").Str)
		case "image_url":
			u := part.Get("image_url")
			if u.IsObject() {
				u = u.Get("url")
			}
			b, err = appendMedia(b, u.Str, "", param+".image_url")
		case "input_audio":
			a := part.Get("input_audio")
			format := a.Get("format").Str
			if format == "" {
				format = "wav"
			}
			b = appendInline(b, "audio/"+format, a.Get("data").Str)
		case "file":
			file := part.Get("file")
			data := file.Get("file_data")
			if data.Type != gjson.String {
				err = invalid(param+".file", "%s: only inline file_data is supported", param)
				break
			}
			if strings.HasPrefix(data.Str, "data:") {
				b, err = appendMedia(b, data.Str, "", param+".file")
				break
			}
			b = appendInline(b, mimeByName(file.Get("filename").Str, "application/pdf"), data.Str)
		default:
			err = invalid(param+".type", "%s: content parts of type %q cannot be sent to Gemini", param, typ)
		}
		return err == nil
	})
	return b, err
}

// appendMedia appends an image or file reference: a data: URL as
// inlineData, an http(s) or gs URL as fileData.
func appendMedia(b []byte, ref, mimeType, param string) ([]byte, *llm.Error) {
	if rest, ok := strings.CutPrefix(ref, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		if !ok {
			return b, invalid(param, "%s: malformed data URL", param)
		}
		mt, params, _ := strings.Cut(meta, ";")
		if mt == "" {
			mt = "text/plain"
		}
		if !strings.Contains(";"+params+";", ";base64;") {
			raw, err := url.PathUnescape(data)
			if err != nil {
				return b, invalid(param, "%s: malformed data URL", param)
			}
			data = base64.StdEncoding.EncodeToString([]byte(raw))
		}
		return appendInline(b, mt, data), nil
	}
	scheme, _, _ := strings.Cut(ref, ":")
	switch strings.ToLower(scheme) {
	case "http", "https", "gs":
	default:
		return b, invalid(param, "%s: expected a data:, http(s): or gs: URL", param)
	}
	if mimeType == "" {
		mimeType = mimeByName(ref, "")
	}
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"fileData":{`...)
	if mimeType != "" {
		b = append(b, `"mimeType":`...)
		b = llm.AppendString(b, mimeType)
		b = append(b, ',')
	}
	b = append(b, `"fileUri":`...)
	b = llm.AppendString(b, ref)
	return append(b, "}}"...), nil
}

func appendInline(b []byte, mimeType, data string) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"inlineData":{"mimeType":`...)
	b = llm.AppendString(b, mimeType)
	b = append(b, `,"data":`...)
	b = llm.AppendString(b, data)
	return append(b, "}}"...)
}

// mimeByName guesses a media type from a file name or URL's extension.
func mimeByName(name, fallback string) string {
	if u, err := url.Parse(name); err == nil && u.Path != "" {
		name = u.Path
	}
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case "":
		return fallback
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	case ".pdf":
		return "application/pdf"
	case ".mp3":
		return "audio/mp3"
	case ".wav":
		return "audio/wav"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return fallback
}
