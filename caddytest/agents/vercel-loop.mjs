// One tool loop of Vercel's AI SDK (ai + @ai-sdk/openai, pinned in
// package.json) through the router, for caddytest/client_vercel_test.go.
// `createOpenAI({ baseURL })(model)` is the SDK's default OpenAI provider:
// it speaks the Responses API. The model is offered get_weather; the SDK
// runs it when the model calls it and sends its result in the next
// request. Prints one JSON line: the final text, the steps, the tool calls
// and results, the usage.
//
//   node vercel-loop.mjs <router>/v1 <model> generate|stream
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool, stepCountIs } from 'ai';
import { z } from 'zod';

const [baseURL, model, mode] = process.argv.slice(2);
const openai = createOpenAI({ baseURL, apiKey: process.env.LLM_ROUTER_KEY || 'sk-vercel-client' });
const tools = {
  get_weather: tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string().optional() }),
    execute: async ({ city }) => `sunny in ${city ?? 'the city'}, 21C`,
  }),
};
const args = {
  model: openai(model),
  tools,
  stopWhen: stepCountIs(4),
  system: 'Use the tools.',
  prompt: 'What is the weather in Paris?',
  maxRetries: 0,
};

let result;
if (mode === 'stream') {
  const r = streamText({ ...args, onError: ({ error }) => { throw error; } });
  let text = '';
  for await (const part of r.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'error') throw part.error;
  }
  result = { text, steps: await r.steps, usage: await r.totalUsage, finishReason: await r.finishReason };
} else {
  const r = await generateText(args);
  result = { text: r.text, steps: r.steps, usage: r.totalUsage, finishReason: r.finishReason };
}
console.log(JSON.stringify({
  text: result.text,
  finishReason: result.finishReason,
  steps: result.steps.length,
  toolCalls: result.steps.flatMap((s) => s.toolCalls.map((c) => c.toolName)),
  toolResults: result.steps.flatMap((s) => s.toolResults.map((c) => c.output)),
  usage: result.usage,
}));
