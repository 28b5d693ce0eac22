"""The real Linux guest of the syndrome oracle: its initramfs, its DTB, its boot."""
