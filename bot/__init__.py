"""stembot: split Suno songs into stems from Discord."""
