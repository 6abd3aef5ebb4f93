// Package llm is the shared core of llm_router: what the router, the inbound
// APIs and the providers all speak. It holds the error type every layer
// returns (Error), token usage (Usage), the operations a client can ask for
// (Op), one attempt on one target (Call, Upstream), where a provider writes
// its answer (ResponseWriter), and the small JSON and buffer helpers the hot
// paths share.
//
// The hub format is OpenAI Chat Completions: a provider that is not asked to
// pass a request through in its own wire format reads an OpenAI chat body
// and writes an OpenAI answer; each inbound API translates to and from it.
// The hub extends OpenAI's format where it lacks a field (see README,
// "Architecture"): `thinking_blocks` on assistant messages and deltas carry
// Anthropic thinking with its signature.
package llm
