package gemini

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmrouter/caddy-llm-router/apis"
	"github.com/llmrouter/caddy-llm-router/llm"
)

// ToHub translates a generateContent request to an OpenAI chat body, and
// an embedContent or batchEmbedContents request to an OpenAI embeddings
// body, for targets that do not speak Gemini.
func (API) ToHub(req *apis.Request) ([]byte, *llm.Error) {
	switch req.Op {
	case llm.OpGenerateContent:
		return chatToHub(nil, req.Body, req.Model, req.Stream)
	case llm.OpEmbedContent, llm.OpBatchEmbedContents:
		return embeddingsToHub(nil, req.Body, req.Model, req.Op)
	}
	return nil, unsupported("", "%s can only be answered by a gemini target", req.Op)
}

// chatToHub appends the OpenAI chat body for a GenerateContentRequest:
//
//   - systemInstruction → a system message;
//   - contents: role user → user, model → assistant; text parts, inlineData
//     (image → image_url data URL, wav/mp3 audio → input_audio, other
//     types → an inline file), fileData (images → image_url with its URL);
//     functionCall parts → the assistant's tool_calls, with the call's own
//     id or one made up from its position (`call_<content>_<part>`);
//     functionResponse parts → tool messages (the response object as JSON
//     text) answering the matching call (by id, else by name); thought
//     parts → reasoning_content;
//   - tools[].functionDeclarations → tools (Gemini schemas converted to
//     JSON Schema), toolConfig.functionCallingConfig → tool_choice;
//   - generationConfig → temperature, top_p, top_k, max_completion_tokens,
//     stop, n, seed, presence/frequency_penalty, response_format,
//     reasoning_effort (see appendGeneration);
//   - streaming → stream with stream_options.include_usage.
//
// safetySettings, labels and other settings that do not change what is
// asked are dropped; what cannot be translated (cached content,
// server-side tools such as googleSearch, code execution, logprobs, audio
// or image output) is refused as unsupported. Both spellings of field
// names (`systemInstruction`, `system_instruction`) are read, as Google's
// API accepts both.
func chatToHub(b, body []byte, model string, stream bool) ([]byte, *llm.Error) {
	var contents, system, tools, toolConfig, config gjson.Result
	var err *llm.Error
	gjson.Parse(llm.BytesString(body)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "contents":
			contents = v
		case "systemInstruction", "system_instruction":
			system = v
		case "tools":
			tools = v
		case "toolConfig", "tool_config":
			toolConfig = v
		case "generationConfig", "generation_config":
			config = v
		case "cachedContent", "cached_content":
			if v.Str != "" {
				err = unsupported("cachedContent", "cached content is stored at Google and cannot be sent to another provider")
			}
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if !contents.IsArray() {
		return nil, apis.Invalid("contents", "'contents' must be an array")
	}
	if b == nil {
		b = make([]byte, 0, len(body)+256)
	}
	b = append(b, `{"model":`...)
	b = llm.AppendString(b, model)
	b = append(b, `,"messages":[`...)
	cv := converter{b: b}
	cv.system(system)
	if err := cv.contents(contents); err != nil {
		return nil, err
	}
	b = append(cv.b, ']')
	if b, err = appendTools(b, tools, toolConfig); err != nil {
		return nil, err
	}
	if b, err = appendGeneration(b, config); err != nil {
		return nil, err
	}
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}'), nil
}

// unsupported is the 400 `unsupported` for what the request asks that no
// non-Gemini target can do.
func unsupported(param, format string, args ...any) *llm.Error {
	return &llm.Error{
		Status: http.StatusBadRequest, Kind: llm.KindHTTP, Code: "unsupported", Type: "invalid_request_error",
		Param: param, Message: fmt.Sprintf(format, args...) + " (no gemini target serves this model)",
	}
}

// converter writes hub messages for Gemini contents.
type converter struct {
	b       []byte
	n       int    // messages written
	calls   []call // function calls of the last model turn
	scratch []gjson.Result
	tmp     []byte
}

// appendJSONText appends raw JSON, without its insignificant whitespace, as
// a JSON string (the hub carries arguments and results as text).
func (cv *converter) appendJSONText(b []byte, raw string) []byte {
	cv.tmp = llm.AppendCompact(cv.tmp[:0], raw)
	return llm.AppendString(b, llm.BytesString(cv.tmp))
}

// call is a function call of a model turn, to be answered by a
// functionResponse of a following user turn.
type call struct {
	id, name string
	answered bool
}

// open starts a message, with the comma before it.
func (cv *converter) open(role string) {
	if cv.n > 0 {
		cv.b = append(cv.b, ',')
	}
	cv.n++
	cv.b = append(cv.b, `{"role":"`...)
	cv.b = append(cv.b, role...)
	cv.b = append(cv.b, '"')
}

// system writes systemInstruction's text as the system message.
func (cv *converter) system(sys gjson.Result) {
	texts := cv.scratch[:0]
	field(sys, "parts", "parts").ForEach(func(_, p gjson.Result) bool {
		if t := p.Get("text"); t.Type == gjson.String {
			texts = append(texts, t)
		}
		return true
	})
	cv.scratch = texts
	if len(texts) == 0 {
		return
	}
	cv.open("system")
	cv.b = append(cv.b, `,"content":`...)
	cv.b = appendJoined(cv.b, texts)
	cv.b = append(cv.b, '}')
}

func (cv *converter) contents(contents gjson.Result) *llm.Error {
	var err *llm.Error
	ci := 0
	contents.ForEach(func(_, c gjson.Result) bool {
		if !c.IsObject() {
			err = apis.Invalid(fmt.Sprintf("contents[%d]", ci), "contents[%d] must be an object", ci)
			return false
		}
		switch role := c.Get("role").Str; role {
		case "model":
			err = cv.model(ci, c.Get("parts"))
		case "user", "", "function":
			err = cv.user(ci, c.Get("parts"))
		default:
			err = apis.Invalid(fmt.Sprintf("contents[%d].role", ci), "contents[%d]: unknown role %q (use user or model)", ci, role)
		}
		ci++
		return err == nil
	})
	return err
}

// model writes a model turn as one assistant message: its text, its
// thoughts as reasoning_content, its function calls as tool_calls.
func (cv *converter) model(ci int, parts gjson.Result) *llm.Error {
	var texts, thoughts, calls []gjson.Result
	var err *llm.Error
	pi := 0
	parts.ForEach(func(_, p gjson.Result) bool {
		switch {
		case p.Get("functionCall").IsObject() || p.Get("function_call").IsObject():
			calls = append(calls, p)
		case p.Get("text").Type == gjson.String:
			if p.Get("thought").Type == gjson.True {
				thoughts = append(thoughts, p.Get("text"))
			} else {
				texts = append(texts, p.Get("text"))
			}
		case p.Get("functionResponse").Exists() || p.Get("function_response").Exists():
			err = apis.Invalid(fmt.Sprintf("contents[%d].parts[%d]", ci, pi), "contents[%d]: a functionResponse belongs in a user turn", ci)
		case p.Get("executableCode").Exists() || p.Get("executable_code").Exists() ||
			p.Get("codeExecutionResult").Exists() || p.Get("code_execution_result").Exists():
			err = unsupported(fmt.Sprintf("contents[%d].parts[%d]", ci, pi), "code execution parts cannot be translated")
		}
		// Media the model produced (inlineData) has no place in an
		// assistant message of the hub: it is left out.
		pi++
		return err == nil
	})
	if err != nil {
		return err
	}
	if len(texts) == 0 && len(calls) == 0 {
		// Nothing but thoughts (or nothing): an assistant message without
		// content is refused upstream, and thoughts alone say nothing to
		// another model.
		return nil
	}
	cv.open("assistant")
	cv.b = append(cv.b, `,"content":`...)
	if len(texts) > 0 {
		cv.b = appendJoined(cv.b, texts)
	} else {
		cv.b = append(cv.b, "null"...)
	}
	if len(thoughts) > 0 {
		cv.b = append(cv.b, `,"reasoning_content":`...)
		cv.b = appendJoined(cv.b, thoughts)
	}
	if len(calls) > 0 {
		cv.calls = cv.calls[:0]
		cv.b = append(cv.b, `,"tool_calls":[`...)
		for k, p := range calls {
			fc := field(p, "functionCall", "function_call")
			id := fc.Get("id").Str
			if id == "" {
				id = "call_" + strconv.Itoa(ci) + "_" + strconv.Itoa(k)
			}
			name := fc.Get("name").Str
			cv.calls = append(cv.calls, call{id: id, name: name})
			if k > 0 {
				cv.b = append(cv.b, ',')
			}
			cv.b = append(cv.b, `{"id":`...)
			cv.b = llm.AppendString(cv.b, id)
			cv.b = append(cv.b, `,"type":"function","function":{"name":`...)
			cv.b = llm.AppendString(cv.b, name)
			cv.b = append(cv.b, `,"arguments":`...)
			if args := fc.Get("args"); args.IsObject() {
				cv.b = cv.appendJSONText(cv.b, args.Raw)
			} else {
				cv.b = append(cv.b, `"{}"`...)
			}
			cv.b = append(cv.b, "}}"...)
		}
		cv.b = append(cv.b, ']')
	}
	cv.b = append(cv.b, '}')
	return nil
}

// user writes a user turn: a tool message per functionResponse first (they
// answer the calls of the model turn before), then one user message with
// the other parts.
func (cv *converter) user(ci int, parts gjson.Result) *llm.Error {
	var err *llm.Error
	media := 0
	pi := 0
	var texts []gjson.Result
	parts.ForEach(func(_, p gjson.Result) bool {
		switch {
		case p.Get("functionResponse").IsObject() || p.Get("function_response").IsObject():
			err = cv.toolResult(ci, pi, field(p, "functionResponse", "function_response"))
		case p.Get("thought").Type == gjson.True:
		case p.Get("text").Type == gjson.String:
			texts = append(texts, p.Get("text"))
		case p.Get("functionCall").Exists() || p.Get("function_call").Exists():
			err = apis.Invalid(fmt.Sprintf("contents[%d].parts[%d]", ci, pi), "contents[%d]: a functionCall belongs in a model turn", ci)
		default:
			media++
		}
		pi++
		return err == nil
	})
	if err != nil {
		return err
	}
	if media == 0 && len(texts) == 0 {
		return nil
	}
	msgStart, msgN := len(cv.b), cv.n
	cv.open("user")
	cv.b = append(cv.b, `,"content":`...)
	if media == 0 && len(texts) == 1 {
		cv.b = llm.AppendString(cv.b, texts[0].Str)
		cv.b = append(cv.b, '}')
		return nil
	}
	cv.b = append(cv.b, '[')
	k := 0
	pi = 0
	parts.ForEach(func(_, p gjson.Result) bool {
		start := len(cv.b)
		if k > 0 {
			cv.b = append(cv.b, ',')
		}
		var wrote bool
		wrote, err = cv.userPart(ci, pi, p)
		if wrote {
			k++
		} else {
			cv.b = cv.b[:start]
		}
		pi++
		return err == nil
	})
	if err != nil {
		return err
	}
	if k == 0 {
		// Only parts that carry no content (videoMetadata alone, …).
		cv.b, cv.n = cv.b[:msgStart], msgN
		return nil
	}
	cv.b = append(cv.b, "]}"...)
	return nil
}

// userPart appends one content part of a user message; wrote is false for
// parts that are not content (function responses, thoughts, unknown
// kinds such as videoMetadata alone).
func (cv *converter) userPart(ci, pi int, p gjson.Result) (bool, *llm.Error) {
	if p.Get("thought").Type == gjson.True {
		return false, nil
	}
	if t := p.Get("text"); t.Type == gjson.String {
		cv.b = append(cv.b, `{"type":"text","text":`...)
		cv.b = llm.AppendString(cv.b, t.Str)
		cv.b = append(cv.b, '}')
		return true, nil
	}
	if d := field(p, "inlineData", "inline_data"); d.IsObject() {
		return cv.inlineData(ci, pi, d)
	}
	if f := field(p, "fileData", "file_data"); f.IsObject() {
		mime := field(f, "mimeType", "mime_type").Str
		if mime != "" && !hasPrefixFold(mime, "image/") {
			return false, unsupported(fmt.Sprintf("contents[%d].parts[%d].fileData", ci, pi), "files of type %q cannot be sent by URL to this target; send them as inlineData", mime)
		}
		cv.b = append(cv.b, `{"type":"image_url","image_url":{"url":`...)
		cv.b = llm.AppendString(cv.b, field(f, "fileUri", "file_uri").Str)
		cv.b = append(cv.b, "}}"...)
		return true, nil
	}
	if p.Get("executableCode").Exists() || p.Get("codeExecutionResult").Exists() ||
		p.Get("executable_code").Exists() || p.Get("code_execution_result").Exists() {
		return false, unsupported(fmt.Sprintf("contents[%d].parts[%d]", ci, pi), "code execution parts cannot be translated")
	}
	return false, nil
}

// inlineData appends an inline blob: images as image_url data URLs, WAV
// and MP3 audio as input_audio, anything else (PDF, …) as an inline file.
func (cv *converter) inlineData(ci, pi int, d gjson.Result) (bool, *llm.Error) {
	mime := field(d, "mimeType", "mime_type")
	data := d.Get("data")
	switch {
	case hasPrefixFold(mime.Str, "image/"):
		cv.b = append(cv.b, `{"type":"image_url","image_url":{"url":"data:`...)
		cv.b = appendInner(cv.b, mime)
		cv.b = append(cv.b, ";base64,"...)
		cv.b = appendInner(cv.b, data)
		cv.b = append(cv.b, `"}}`...)
	case hasPrefixFold(mime.Str, "audio/"):
		format := ""
		switch mime.Str {
		case "audio/wav", "audio/x-wav", "audio/wave":
			format = "wav"
		case "audio/mp3", "audio/mpeg":
			format = "mp3"
		default:
			return false, unsupported(fmt.Sprintf("contents[%d].parts[%d].inlineData", ci, pi), "audio of type %q cannot be translated (wav and mp3 can)", mime.Str)
		}
		cv.b = append(cv.b, `{"type":"input_audio","input_audio":{"data":"`...)
		cv.b = appendInner(cv.b, data)
		cv.b = append(cv.b, `","format":"`...)
		cv.b = append(cv.b, format...)
		cv.b = append(cv.b, `"}}`...)
	default:
		cv.b = append(cv.b, `{"type":"file","file":{"filename":`...)
		name := field(d, "displayName", "display_name").Str
		if name == "" {
			name = "file"
		}
		cv.b = llm.AppendString(cv.b, name)
		cv.b = append(cv.b, `,"file_data":"data:`...)
		cv.b = appendInner(cv.b, mime)
		cv.b = append(cv.b, ";base64,"...)
		cv.b = appendInner(cv.b, data)
		cv.b = append(cv.b, `"}}`...)
	}
	return true, nil
}

// toolResult writes a functionResponse as a tool message answering the
// matching call of the model turn before: the one with its id, else the
// first unanswered one of its name.
func (cv *converter) toolResult(ci, pi int, fr gjson.Result) *llm.Error {
	id, name := fr.Get("id").Str, fr.Get("name").Str
	match := -1
	for i, c := range cv.calls {
		if id != "" && c.id == id {
			match = i
			break
		}
	}
	if match < 0 {
		for i, c := range cv.calls {
			if !c.answered && c.name == name {
				match = i
				break
			}
		}
	}
	if match < 0 {
		return apis.Invalid(fmt.Sprintf("contents[%d].parts[%d].functionResponse", ci, pi),
			"contents[%d]: the functionResponse %q answers no functionCall of the model turn before it", ci, name)
	}
	cv.calls[match].answered = true
	cv.open("tool")
	cv.b = append(cv.b, `,"tool_call_id":`...)
	cv.b = llm.AppendString(cv.b, cv.calls[match].id)
	cv.b = append(cv.b, `,"content":`...)
	if r := fr.Get("response"); r.Exists() {
		cv.b = cv.appendJSONText(cv.b, r.Raw)
	} else {
		cv.b = append(cv.b, `"{}"`...)
	}
	cv.b = append(cv.b, '}')
	return nil
}
