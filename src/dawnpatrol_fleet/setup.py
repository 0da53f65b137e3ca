from setuptools import find_packages, setup

package_name = "dawnpatrol_fleet"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="DawnPatrol developers",
    maintainer_email="dev@dawnpatrol.dev",
    description="DawnPatrol fleet manager node, its store, and the operator CLI.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "dawnpatrol = dawnpatrol_fleet.cli:main",
            "fleet_manager = dawnpatrol_fleet.fleet_manager_node:main",
        ],
    },
)
