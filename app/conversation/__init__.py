"""The conversation engine: what the agent says next, turn by turn, over Retell's custom-LLM socket."""
