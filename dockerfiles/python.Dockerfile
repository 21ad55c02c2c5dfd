# A Python kernel for SageMaker Studio Classic (KernelGateway app), scaffolded by sm-kernel.
#
# What Studio needs from this image:
# - linux/amd64 (sm-kernel builds with --platform linux/amd64 in CodeBuild);
# - a user with UID 1000 and GID 100, the values in the app image config (uid/gid in kernel.toml);
# - a Jupyter kernelspec whose name is the kernel-specs name in kernel.toml ("{{KERNEL_NAME}}");
# - nothing of yours under /opt/ml or /opt/.sagemakerinternal, and no ENTRYPOINT it relies on
#   (Studio Classic replaces it).
FROM public.ecr.aws/docker/library/python:3.12-slim

ARG NB_USER=sagemaker-user
ARG NB_UID=1000
ARG NB_GID=100

RUN useradd --create-home --shell /bin/bash --uid "${NB_UID}" --gid "${NB_GID}" "${NB_USER}"

RUN pip install --no-cache-dir ipykernel \
 && python -m ipykernel install --sys-prefix --name "{{KERNEL_NAME}}" --display-name "{{DISPLAY_NAME}}"

# Your packages go here, e.g.:
# RUN pip install --no-cache-dir pandas scikit-learn

ENV SHELL=/bin/bash
USER ${NB_UID}
WORKDIR /home/${NB_USER}
