# A Code Editor space image for the new SageMaker Studio, scaffolded by sm-kernel.
#
# What Studio needs from this image:
# - linux/amd64 (sm-kernel builds with --platform linux/amd64 in CodeBuild);
# - a user with UID 1000 and GID 100, home /home/sagemaker-user (Studio mounts your storage there);
# - Code Editor serving on 0.0.0.0:8888 under the base URL CodeEditor/default.
# SageMaker Distribution already provides all three; add your packages on top.
FROM public.ecr.aws/sagemaker/sagemaker-distribution:latest-cpu

USER root
# System packages go here, e.g.:
# RUN apt-get update && apt-get install -y --no-install-recommends graphviz && rm -rf /var/lib/apt/lists/*

USER 1000
# Python packages go here, e.g.:
# RUN micromamba install -y -n base -c conda-forge polars && micromamba clean -a -y

ENTRYPOINT ["entrypoint-code-editor"]
