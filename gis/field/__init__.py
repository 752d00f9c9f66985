"""Field work (issue 24): what a grid member sees and does on her phone — her work list,
the incident page, acting on incidents (once, even when a phone resends), and photos."""
