from setuptools import find_packages, setup

package_name = "dawnpatrol_robot"

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
    description="DawnPatrol nodes that run on a robot.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "navigator = dawnpatrol_robot.navigator_node:main",
            "anomaly_monitor = dawnpatrol_robot.anomaly_monitor_node:main",
            "mission = dawnpatrol_robot.mission_node:main",
            "localization = dawnpatrol_robot.localization_node:main",
        ],
    },
)
