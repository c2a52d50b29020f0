/**
 * Test fixtures for users' own tests: mock OpenAI and Anthropic servers that speak the real wire
 * formats, with scripted replies, errors, latency, rate limits, a prefix cache and a record of every
 * request, and a mock OpenTelemetry collector that records OTLP trace exports. See docs/testing.md.
 */
export { startMockAnthropic } from './mock-anthropic-server.js';
export { startMockOpenAI } from './mock-openai-server.js';
export {
  type CollectedSpan,
  type MockOtlpCollector,
  type MockOtlpOptions,
  type OtlpValue,
  startMockOtlpCollector,
} from './mock-otlp-collector.js';
export {
  countMockTokens,
  type MockOptions,
  type MockReply,
  type MockResponder,
  type MockServer,
  type MockStats,
  type MockToolCall,
  type RecordedRequest,
} from './mock-provider-core.js';
