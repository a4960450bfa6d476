"""Training: the domain simulator, fitting, export to the JSON model file and evaluation."""
