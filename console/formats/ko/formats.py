from console.formats.shared import *  # noqa: F403
