package llm

// Op is an operation a client asks for. The hub operations (OpChat,
// OpCompletions, OpEmbeddings) are what every provider serves; the others are
// an inbound API's own, passed through to a provider of that wire format
// (see Native) or translated to a hub operation.
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
)

// Wire formats, as Op.Format names them.
const (
	FormatOpenAI    = "openai"
	FormatAnthropic = "anthropic"
	FormatGemini    = "gemini"
)

// Hub reports whether op is a hub operation, which every provider serves.
func (op Op) Hub() bool { return op >= OpChat && op <= OpEmbeddings }

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
	}
	return "unknown"
}
