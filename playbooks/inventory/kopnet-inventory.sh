#!/bin/sh
# Dynamic inventory script: ansible-playbook -i playbooks/inventory/kopnet-inventory.sh ...
# Prints `kopnet ansible-inventory` (Ansible's --list JSON). KOPNET_LAB=1 selects the running
# lab's gateways; KOPNET_INVENTORY the inventory folder; KOPNET the kopnet executable.
exec "${KOPNET:-kopnet}" ansible-inventory "$@"
