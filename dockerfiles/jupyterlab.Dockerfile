# A JupyterLab space image for the new SageMaker Studio, scaffolded by sm-kernel.
#
# What Studio needs from this image:
# - linux/amd64 (sm-kernel builds with --platform linux/amd64 in CodeBuild);
# - a user with UID 1000 and GID 100, home /home/sagemaker-user (Studio mounts your storage there);
# - JupyterLab serving on 0.0.0.0:8888 under the base URL /jupyterlab/default.
FROM public.ecr.aws/docker/library/python:3.12-slim

ARG NB_USER=sagemaker-user
ARG NB_UID=1000
ARG NB_GID=100

RUN useradd --create-home --shell /bin/bash --uid "${NB_UID}" --gid "${NB_GID}" "${NB_USER}"

RUN pip install --no-cache-dir jupyterlab ipykernel \
 && python -m ipykernel install --sys-prefix --name "{{KERNEL_NAME}}" --display-name "{{DISPLAY_NAME}}"

# Your packages go here, e.g.:
# RUN pip install --no-cache-dir pandas scikit-learn

ENV SHELL=/bin/bash
USER ${NB_UID}
WORKDIR /home/${NB_USER}

ENTRYPOINT ["jupyter-lab"]
CMD ["--ServerApp.ip=0.0.0.0", "--ServerApp.port=8888", "--ServerApp.allow_origin=*", "--ServerApp.token=", "--ServerApp.base_url=/jupyterlab/default"]
