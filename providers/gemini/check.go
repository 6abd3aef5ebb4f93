package gemini

import (
	"strconv"

	"github.com/llmrouter/caddy-llm-router/llm"
	"github.com/tidwall/gjson"
)

// Check skips a Gemini target for what the Gemini API cannot serve, so that
// another candidate can: legacy completions, token-array embedding inputs,
// logprobs, audio output, non-function tools and content parts that have no
// Gemini equivalent.
func (Provider) Check(c *llm.Call) error {
	name := c.Upstream.Name
	src := llm.BytesString(c.Body)
	switch c.Op {
	case llm.OpChat:
		return checkChat(name, src)
	case llm.OpEmbeddings:
		return checkEmbeddings(name, src)
	}
	return llm.Unsupported(name, c.Op.String(), "the Gemini API has no legacy completions endpoint")
}

func checkChat(name, src string) error {
	var err error
	gjson.Parse(src).ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "logprobs":
			if v.Type == gjson.True {
				err = llm.Unsupported(name, "logprobs", "")
			}
		case "top_logprobs":
			if v.Type == gjson.Number && v.Int() > 0 {
				err = llm.Unsupported(name, "top_logprobs", "")
			}
		case "audio":
			if v.IsObject() {
				err = llm.Unsupported(name, "audio", "audio output is not translated")
			}
		case "modalities":
			v.ForEach(func(_, m gjson.Result) bool {
				if m.Str != "text" {
					err = llm.Unsupported(name, "modalities", strconv.Quote(m.Str)+" output is not translated")
				}
				return err == nil
			})
		case "tools":
			v.ForEach(func(_, t gjson.Result) bool {
				if typ := t.Get("type"); typ.Exists() && typ.Str != "function" {
					err = llm.Unsupported(name, "tools", "tools of type "+strconv.Quote(typ.Str))
				}
				return err == nil
			})
		case "messages":
			err = checkMessages(name, v)
		}
		return err == nil
	})
	return err
}

// checkMessages rejects content parts with no Gemini equivalent.
func checkMessages(name string, messages gjson.Result) error {
	var err error
	messages.ForEach(func(_, m gjson.Result) bool {
		content := m.Get("content")
		if !content.IsArray() {
			return true
		}
		content.ForEach(func(_, part gjson.Result) bool {
			switch typ := part.Get("type").Str; typ {
			case "text", "image_url", "input_audio", "refusal":
			case "file":
				if part.Get("file.file_data").Type != gjson.String {
					err = llm.Unsupported(name, "messages[].content[].file", "only inline file_data is translated, not file_id")
				}
			default:
				err = llm.Unsupported(name, "messages[].content[].type", "content parts of type "+strconv.Quote(typ))
			}
			return err == nil
		})
		return err == nil
	})
	return err
}

func checkEmbeddings(name, src string) error {
	input := gjson.Get(src, "input")
	if !input.IsArray() {
		return nil
	}
	var err error
	input.ForEach(func(_, v gjson.Result) bool {
		if v.Type != gjson.String {
			err = llm.Unsupported(name, "input", "only strings are embedded, not token arrays")
		}
		return err == nil
	})
	return err
}
