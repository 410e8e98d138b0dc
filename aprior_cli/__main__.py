"""``python -m aprior_cli`` runs the command-line interface."""

from aprior_cli.cli.main import main

if __name__ == "__main__":
    main()
