"""One module per pipeline stage; each has a thin `main()` that dvc.yaml runs."""
