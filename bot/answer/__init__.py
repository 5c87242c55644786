"""The answer pipeline: the engine, question analysis, sentence scoring (classic
and the learned answer model), the extractive and direct answers, conversations."""
