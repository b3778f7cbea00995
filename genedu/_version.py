__version__ = "0.1.0"

# Where the course lives; the notebooks' Colab set-up cells install from here (a test checks they agree).
REPO_URL = "https://github.com/genedu-course/genedu"
