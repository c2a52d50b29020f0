/** Test doubles for users' own tests: mock model providers that speak the real wire formats. */
export { startMockAnthropic } from './mock-anthropic-server.js';
export { startMockOpenAI } from './mock-openai-server.js';
export type { MockOptions, MockReply, MockServer, MockStats, RecordedRequest } from './mock-provider.js';
