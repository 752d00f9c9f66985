"""What officials look at: the evaluation (考核) index, the dashboard's figures and its page."""
