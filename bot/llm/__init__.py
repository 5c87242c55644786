"""The LLM path: the ChatModel seam and its OpenAI-compatible client, the
prompts, the answer and follow-up condensing, and the verification of replies."""
