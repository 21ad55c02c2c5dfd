"""sm-kernel's local AWS sandbox: moto 5.2.5 extended with SageMaker images,
app-image-configs, UpdateDomain, apps and a CodeBuild build lifecycle."""
