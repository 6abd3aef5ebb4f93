package llm

import "strings"

// Op is an operation a client asks for. The hub operations (OpChat,
// OpCompletions, OpEmbeddings) are what every provider serves; the others are
// an inbound API's own, passed through to a provider of that wire format
// (see Native) or translated to a hub operation.
//
// The media operations (images, audio, moderations; see Media) belong to the
// OpenAI wire format and have no hub equivalent: they are passed through
// byte for byte to the providers that speak them (providers.Native:
// openai, azure) and nowhere else, so a candidate whose provider does not
// speak one is skipped as unsupported.
type Op uint8

// The operations.
const (
	// OpChat is OpenAI chat completions, the hub operation.
	OpChat Op = iota + 1
	// OpCompletions is OpenAI's legacy text completion.
	OpCompletions
	// OpEmbeddings is OpenAI embeddings.
	OpEmbeddings
	// OpMessages is Anthropic's Messages API.
	OpMessages
	// OpCountTokens is Anthropic's token counting.
	OpCountTokens
	// OpResponses is OpenAI's Responses API.
	OpResponses
	// OpGenerateContent is Gemini's generateContent (streamed or not).
	OpGenerateContent
	// OpGeminiCountTokens is Gemini's countTokens.
	OpGeminiCountTokens
	// OpEmbedContent is Gemini's embedContent.
	OpEmbedContent
	// OpBatchEmbedContents is Gemini's batchEmbedContents.
	OpBatchEmbedContents
	// OpImageGeneration is OpenAI's image generation (JSON).
	OpImageGeneration
	// OpImageEdit is OpenAI's image edit (multipart/form-data uploads).
	OpImageEdit
	// OpSpeech is OpenAI's text to speech: JSON in, audio (or audio
	// events) out.
	OpSpeech
	// OpTranscription is OpenAI's speech to text (multipart/form-data).
	OpTranscription
	// OpTranslation is OpenAI's speech to English text
	// (multipart/form-data).
	OpTranslation
	// OpModeration is OpenAI's moderation (JSON).
	OpModeration
)

// Wire formats, as Op.Format names them.
const (
	FormatOpenAI    = "openai"
	FormatAnthropic = "anthropic"
	FormatGemini    = "gemini"
)

// Hub reports whether op is a hub operation, which every provider serves.
func (op Op) Hub() bool { return op >= OpChat && op <= OpEmbeddings }

// Media reports whether op is one of the OpenAI media operations (images,
// audio, moderations), passed through byte for byte and answered with
// binary, text or JSON bodies (see AcceptsAnswer).
func (op Op) Media() bool { return op >= OpImageGeneration && op <= OpModeration }

// AcceptsAnswer reports whether a 2xx answer of media type mt (as parsed
// from its Content-Type, lower case) can be what op asked for: JSON for
// every operation, an event stream for a streamed request or a media
// operation, audio for speech, plain text, SubRip and WebVTT for
// transcriptions and translations (`response_format` text, srt, vtt).
// Anything else (an HTML page from a proxy, say) is a failed attempt.
func (op Op) AcceptsAnswer(mt string, stream bool) bool {
	switch {
	case mt == "application/json", strings.HasSuffix(mt, "+json"):
		return true
	case mt == "text/event-stream":
		return stream || op.Media()
	}
	switch op {
	case OpSpeech:
		return strings.HasPrefix(mt, "audio/") || mt == "application/octet-stream"
	case OpTranscription, OpTranslation:
		return mt == "text/plain" || mt == "text/vtt" || mt == "application/x-subrip" || mt == "text/srt"
	}
	return false
}

// Format is the wire format the operation belongs to.
func (op Op) Format() string {
	switch op {
	case OpMessages, OpCountTokens:
		return FormatAnthropic
	case OpGenerateContent, OpGeminiCountTokens, OpEmbedContent, OpBatchEmbedContents:
		return FormatGemini
	}
	return FormatOpenAI
}

// String returns the OpenAI path of a hub operation below /v1, or the
// operation's name.
func (op Op) String() string {
	switch op {
	case OpChat:
		return "/chat/completions"
	case OpCompletions:
		return "/completions"
	case OpEmbeddings:
		return "/embeddings"
	case OpMessages:
		return "/messages"
	case OpCountTokens:
		return "/messages/count_tokens"
	case OpResponses:
		return "/responses"
	case OpGenerateContent:
		return "generateContent"
	case OpGeminiCountTokens:
		return "countTokens"
	case OpEmbedContent:
		return "embedContent"
	case OpBatchEmbedContents:
		return "batchEmbedContents"
	case OpImageGeneration:
		return "/images/generations"
	case OpImageEdit:
		return "/images/edits"
	case OpSpeech:
		return "/audio/speech"
	case OpTranscription:
		return "/audio/transcriptions"
	case OpTranslation:
		return "/audio/translations"
	case OpModeration:
		return "/moderations"
	}
	return "unknown"
}

// Name is the operation as OpenTelemetry's gen_ai.operation.name calls it.
func (op Op) Name() string {
	switch op {
	case OpChat, OpMessages, OpResponses, OpGenerateContent:
		return "chat"
	case OpCompletions:
		return "text_completion"
	case OpEmbeddings, OpEmbedContent, OpBatchEmbedContents:
		return "embeddings"
	case OpCountTokens, OpGeminiCountTokens:
		return "count_tokens"
	case OpImageGeneration:
		return "image_generation"
	case OpImageEdit:
		return "image_edit"
	case OpSpeech:
		return "speech"
	case OpTranscription:
		return "transcription"
	case OpTranslation:
		return "translation"
	case OpModeration:
		return "moderation"
	}
	return "unknown"
}
